"""Trainer: the loop, accumulation, clipping, schedules, callbacks, progress and exact resume."""

import csv
import io
import json

import numpy as np
import pytest

from tinytorch.layers import Dropout, Linear, Sequential
from tinytorch.losses import CrossEntropyLoss, MSELoss
from tinytorch.optimizers import SGD, Adam
from tinytorch.tensor import Generator, Tensor, default_generator, manual_seed, randperm
from tinytorch.training import (
    Callback,
    EarlyStopping,
    HistoryWriter,
    ModelCheckpoint,
    Progress,
    StepLR,
    Trainer,
    accuracy,
    binary_accuracy,
    clip_grad_norm_,
    load_checkpoint,
    save_checkpoint,
)


def regression_data(n=64, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(dtype)
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(dtype)
    return x, y


def batches_of(x, y, size):
    return [(Tensor(x[i : i + size]), Tensor(y[i : i + size])) for i in range(0, len(x), size)]


def linear(seed=0, dtype=np.float64):
    return Linear(3, 1, generator=Generator(seed)).to(dtype)


class Recorder(Callback):
    def __init__(self):
        self.events = []
        self.steps = []
        self.epochs = []

    def on_fit_start(self, trainer):
        self.events.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.events.append(f"epoch_start {epoch}")

    def on_step_end(self, trainer, logs):
        self.steps.append(dict(logs))

    def on_epoch_end(self, trainer, logs):
        self.events.append(f"epoch_end {logs['epoch']}")
        self.epochs.append({k: v.data.copy() for k, v in trainer.model.state_dict().items()})

    def on_fit_end(self, trainer):
        self.events.append("fit_end")


# ---- the loop --------------------------------------------------------------------------------
def test_fit_learns_and_records_history():
    x, y = regression_data()
    model = linear()
    rec = Recorder()
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), callbacks=[rec])
    history = trainer.fit(batches_of(x, y, 16), epochs=30, val_batches=batches_of(x, y, 64))
    assert len(history) == 30
    assert len(history.steps) == 30 * 4
    assert history["train_loss"][0] > 1.0
    assert history["val_loss"][-1] < 1e-6
    assert history.keys() == ["epoch", "train_loss", "lr", "val_loss", "time_s"]
    assert history["epoch"] == list(range(1, 31))
    assert rec.events[:3] == ["fit_start", "epoch_start 1", "epoch_end 1"]
    assert rec.events[-1] == "fit_end"
    assert [s["step"] for s in rec.steps] == list(range(1, 121))
    np.testing.assert_allclose(model.weight.data, [[1.0, -2.0, 0.5]], atol=1e-3)
    # a second fit continues the numbering
    trainer.fit(batches_of(x, y, 16), epochs=2)
    assert history["epoch"][-2:] == [31, 32]
    assert trainer.global_step == 128


def test_train_loss_is_the_sample_weighted_mean_of_the_epoch():
    x, y = regression_data(n=10)
    model = linear()
    trainer = Trainer(model, SGD(model.parameters(), lr=0.0), MSELoss())  # lr 0: weights fixed
    history = trainer.fit(batches_of(x, y, 4), epochs=1)  # batches of 4, 4 and 2
    with_all = trainer.evaluate(batches_of(x, y, 10))["loss"]
    assert history["train_loss"][0] == pytest.approx(with_all, rel=1e-12)


def test_evaluate_is_graph_free_and_restores_the_mode():
    x, y = regression_data(n=8)
    model = Sequential(linear(), Dropout(0.5))
    seen = []

    def probe(outputs, targets):
        seen.append((outputs.requires_grad, model[1].training))
        return 1.0

    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), metrics={"probe": probe})
    assert trainer.evaluate(batches_of(x, y, 4)) == {
        "loss": pytest.approx(trainer.evaluate(batches_of(x, y, 8))["loss"]),
        "probe": 1.0,
    }
    assert seen[0] == (False, False)
    assert model.training
    model.eval()
    trainer.evaluate(batches_of(x, y, 4))
    assert not model.training


def test_classification_with_metrics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 2)).astype(np.float32)
    y = (x[:, 0] > x[:, 1]).astype(np.int64) + (x[:, 0] > 1.0)
    model = Linear(2, 3, generator=Generator(0))
    trainer = Trainer(
        model, Adam(model.parameters(), lr=0.05), CrossEntropyLoss(), metrics={"acc": accuracy}
    )
    history = trainer.fit([(x, y)], epochs=150, val_batches=[(x, y)])  # numpy batches work too
    assert history["val_acc"][-1] > 0.9
    assert history["val_acc"][-1] > history["val_acc"][0]


def test_gradient_accumulation_equals_one_big_batch():
    x, y = regression_data(n=32)
    big, small = linear(), linear()
    Trainer(big, SGD(big.parameters(), lr=0.1, momentum=0.9), MSELoss()).fit(
        batches_of(x, y, 32), epochs=3
    )
    accumulating = Trainer(
        small, SGD(small.parameters(), lr=0.1, momentum=0.9), MSELoss(), accumulation_steps=4
    )
    accumulating.fit(batches_of(x, y, 8), epochs=3)
    assert accumulating.global_step == 3
    for a, b in zip(big.parameters(), small.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


def test_a_short_last_group_is_averaged_over_its_own_count():
    x, y = regression_data(n=40)
    model, reference = linear(), linear()
    # five batches of 8 with k=2: steps over batches (1,2), (3,4) and (5,) alone
    Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), accumulation_steps=2).fit(
        batches_of(x, y, 8), epochs=1
    )
    opt = SGD(reference.parameters(), lr=0.1)
    for lo, hi in [(0, 16), (16, 32), (32, 40)]:
        MSELoss()(reference(Tensor(x[lo:hi])), Tensor(y[lo:hi])).backward()
        opt.step()
        opt.zero_grad()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


def test_grad_clip_bounds_each_step():
    x, y = regression_data(n=16)
    y = y * 1000.0  # huge gradients
    model, reference = linear(), linear()
    Trainer(model, SGD(model.parameters(), lr=1.0), MSELoss(), grad_clip=0.5).fit(
        batches_of(x, y, 16), epochs=1
    )
    MSELoss()(reference(Tensor(x)), Tensor(y)).backward()
    params = list(reference.parameters())
    before = [p.data.copy() for p in params]
    total = float(clip_grad_norm_(params, 0.5))
    assert total > 1000.0
    SGD(params, lr=1.0).step()
    moved = np.sqrt(
        sum(float(np.sum((p.data - b) ** 2)) for p, b in zip(params, before, strict=True))
    )
    assert moved == pytest.approx(0.5, rel=1e-5)
    for a, b in zip(model.parameters(), params, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize(
    ("interval", "expected"), [("epoch", [1.0, 0.5, 0.25]), ("step", [1.0, 0.125, 0.015625])]
)
def test_scheduler_steps_per_epoch_or_per_step(interval, expected):
    x, y = regression_data(n=12)
    model = linear()
    opt = SGD(model.parameters(), lr=1e-3)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    rec = Recorder()
    trainer = Trainer(
        model, opt, MSELoss(), scheduler=sched, scheduler_interval=interval, callbacks=[rec]
    )
    history = trainer.fit(batches_of(x, y, 4), epochs=3)  # 3 steps per epoch
    assert history["lr"] == pytest.approx([1e-3 * e for e in expected])
    rates = [s["lr"] for s in rec.steps[:3]]
    assert rates == pytest.approx([1e-3] * 3 if interval == "epoch" else [1e-3, 5e-4, 2.5e-4])


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = regression_data(n=32)
    # validation targets of the opposite sign: val loss is best after epoch 1, then worsens
    val = batches_of(x, -y, 32)
    model = linear()
    rec = Recorder()
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.05), MSELoss(), callbacks=[rec, stop])
    history = trainer.fit(batches_of(x, y, 8), epochs=50, val_batches=val)
    best = int(np.argmin(history["val_loss"]))
    assert len(history) == best + 1 + 2  # two epochs without improvement, then stop
    assert stop.stopped_epoch == len(history)
    assert stop.best_epoch == best + 1
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.data, rec.epochs[best][key])


def test_metrics_count_hits_over_the_class_axis_and_the_threshold():
    logits = Tensor([[[2.0, 0.1], [0.3, 0.9]], [[1.0, 0.0], [0.0, 1.0]]])  # (N, T, C)
    assert accuracy(logits, Tensor([[0, 1], [1, 1]])) == 0.75
    assert accuracy(np.eye(3), [0, 1, 2]) == 1.0
    # An output exactly at the threshold is a negative, as in Keras and torchmetrics.
    assert binary_accuracy([0.5, 0.51, 0.2], [0, 1, 0]) == 1.0
    assert binary_accuracy(Tensor([-1.0, 2.0]), Tensor([1.0, 1.0]), threshold=0.0) == 0.5
    with pytest.raises(ValueError, match=r"outputs of shape \(2, 2\) need targets of shape"):
        accuracy(np.eye(2), [[0, 1]])
    with pytest.raises(ValueError, match="binary_accuracy: outputs"):
        binary_accuracy([0.1, 0.2], [1])


def test_early_stopping_max_mode_and_min_delta():
    stop = EarlyStopping(monitor="acc", patience=1, mode="max", min_delta=0.1)
    trainer = type("T", (), {"stop_training": False})()
    stop.on_fit_start(trainer)
    stop.on_epoch_end(trainer, {"epoch": 1, "acc": 0.5})
    stop.on_epoch_end(trainer, {"epoch": 2, "acc": 0.55})  # not better by more than 0.1
    assert trainer.stop_training
    assert stop.best == 0.5
    plateau = EarlyStopping(monitor="loss", patience=1)  # min mode, min_delta 0
    trainer.stop_training = False
    plateau.on_fit_start(trainer)
    plateau.on_epoch_end(trainer, {"epoch": 1, "loss": 1.0})
    plateau.on_epoch_end(trainer, {"epoch": 2, "loss": 1.0})  # equal is no improvement
    assert trainer.stop_training
    assert plateau.best_epoch == 1
    with pytest.raises(KeyError, match="'val_loss' is not in the epoch's logs"):
        EarlyStopping().on_epoch_end(trainer, {"epoch": 1, "train_loss": 1.0})
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_history_writer_csv_and_json(tmp_path):
    x, y = regression_data(n=16)
    model = linear()
    writers = [HistoryWriter(tmp_path / "h.csv"), HistoryWriter(tmp_path / "h.json")]
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), callbacks=writers)
    history = trainer.fit(batches_of(x, y, 8), epochs=3, val_batches=batches_of(x, y, 16))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "h.csv").read_text())))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_loss"]) for r in rows] == history["val_loss"]  # repr round-trips
    assert json.loads((tmp_path / "h.json").read_text()) == history.epochs
    with pytest.raises(ValueError, match="suffix"):
        HistoryWriter(tmp_path / "h.txt")


def test_model_checkpoint_callback(tmp_path):
    x, y = regression_data(n=16)
    model = linear()
    saver = ModelCheckpoint(str(tmp_path / "c-{epoch}.npz"), every_n_epochs=2)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), callbacks=[saver])
    trainer.fit(batches_of(x, y, 8), epochs=5)
    assert [p.rsplit("/", 1)[1] for p in saver.saved] == ["c-2.npz", "c-4.npz"]
    assert load_checkpoint(saver.saved[-1], linear())["step"] == 8


def test_progress_line(capsys):
    stream = io.StringIO()
    bar = Progress(enabled=True, stream=stream, interval=0.0)
    bar.start(epoch=1, epochs=3, total=10)
    bar.update(step=4, loss=1.5)
    bar.end("epoch 1/3 done")
    text = stream.getvalue()
    assert "epoch 1/3  step 4/10" in text
    assert "steps/s" in text
    assert "loss 1.5000" in text
    assert text.endswith("epoch 1/3 done".ljust(70) + "\n")
    # a stream that is not a terminal gets nothing by default; so does a short run
    quiet = io.StringIO()
    auto = Progress(stream=quiet, interval=0.0)
    auto.start(1, 1, None)
    auto.update(1, 0.1)
    assert not auto.enabled
    assert quiet.getvalue() == ""
    slow = Progress(enabled=True, stream=quiet, interval=60.0)
    slow.start(1, 1, None)
    slow.update(1, 0.1)
    slow.end("done")
    assert quiet.getvalue() == ""
    # the trainer writes nothing to stderr when it is not a terminal
    x, y = regression_data(n=8)
    model = linear()
    Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss()).fit(batches_of(x, y, 4), epochs=2)
    assert capsys.readouterr().err == ""


def test_bad_arguments_are_refused():
    x, y = regression_data(n=8)
    model = linear()
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="accumulation_steps"):
        Trainer(model, opt, MSELoss(), accumulation_steps=0)
    with pytest.raises(ValueError, match="grad_clip"):
        Trainer(model, opt, MSELoss(), grad_clip=0.0)
    with pytest.raises(ValueError, match="scheduler_interval"):
        Trainer(model, opt, MSELoss(), scheduler_interval="batch")
    with pytest.raises(ValueError, match="different optimizer"):
        Trainer(model, opt, MSELoss(), scheduler=StepLR(SGD(model.parameters(), lr=1.0), 1))
    trainer = Trainer(model, opt, MSELoss())
    with pytest.raises(TypeError, match="one-shot iterator"):
        trainer.fit(iter(batches_of(x, y, 4)), epochs=2)
    with pytest.raises(TypeError, match=r"not an \(inputs, targets\) pair"):
        trainer.fit([Tensor(x)], epochs=1)
    with pytest.raises(ValueError, match="no batches"):
        trainer.fit([], epochs=1)


def test_a_non_finite_loss_stops_training():
    x, y = regression_data(n=8)
    y[3] = np.nan
    model = linear()
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
    with pytest.raises(FloatingPointError, match="loss is nan at epoch 1, batch 1"):
        trainer.fit(batches_of(x, y, 8), epochs=1)


# ---- exact resume --------------------------------------------------------------------------
class Shuffled:
    """A re-iterable of mini-batches reshuffled from the default generator every epoch."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __iter__(self):
        order = randperm(len(self.x)).data
        for i in range(0, len(order), self.size):
            idx = order[i : i + self.size]
            yield Tensor(self.x[idx]), Tensor(self.y[idx])


def resumable_setup():
    """Model with dropout, shuffled data, Adam, a per-step schedule: all RNG and state in play."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 3)).astype(np.float32)
    y = rng.integers(0, 4, 48)
    model = Sequential(Linear(3, 16), Dropout(0.3), Linear(16, 4))  # default generator init
    opt = Adam(model.parameters(), lr=0.01)
    sched = StepLR(opt, step_size=5, gamma=0.7)
    trainer = Trainer(
        model, opt, CrossEntropyLoss(), scheduler=sched, scheduler_interval="step", grad_clip=1.0
    )
    return trainer, Shuffled(x, y, 8)


def test_trainer_resumes_bit_exactly(tmp_path):
    manual_seed(0)
    straight, data = resumable_setup()
    straight.fit(data, epochs=4)

    manual_seed(0)
    first, data = resumable_setup()
    first.fit(data, epochs=2)
    first.save_checkpoint(tmp_path / "half.npz", extra={"run": "a"})
    default_generator.manual_seed(12345)  # a fresh process would have another RNG state
    resumed, data = resumable_setup()  # fresh objects, with other initial weights
    assert resumed.load_checkpoint(tmp_path / "half.npz") == {"run": "a"}
    assert resumed.epoch == 2
    assert resumed.global_step == 12
    resumed.fit(data, epochs=2)

    for (name, a), b in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert a.data.tobytes() == b.data.tobytes(), name
    assert resumed.history.steps == straight.history.steps
    assert [r["train_loss"] for r in resumed.history.epochs] == straight.history["train_loss"]
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_a_plain_loop_resumes_bit_exactly(tmp_path):
    """N steps straight == N/2 steps, checkpoint, fresh objects, load, N/2 steps."""

    def setup():
        model = Sequential(Linear(3, 8), Dropout(0.5), Linear(8, 1))
        opt = Adam(model.parameters(), lr=0.01, weight_decay=0.1)
        return model, opt

    def run(model, opt, steps):
        for _ in range(steps):
            x = Tensor(default_generator.rng.standard_normal((4, 3)).astype(np.float32))
            opt.zero_grad()
            MSELoss()(model(x), x.sum(axis=1, keepdims=True)).backward()
            opt.step()

    manual_seed(1)
    model, opt = setup()
    run(model, opt, 10)

    manual_seed(1)
    half, half_opt = setup()
    run(half, half_opt, 5)
    save_checkpoint(tmp_path / "c.npz", half, half_opt, step=5)
    manual_seed(777)
    fresh, fresh_opt = setup()
    assert load_checkpoint(tmp_path / "c.npz", fresh, fresh_opt)["step"] == 5
    run(fresh, fresh_opt, 5)
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert a.data.tobytes() == b.data.tobytes()
