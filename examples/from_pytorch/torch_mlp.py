"""A scikit-learn-style tabular MLP, written the PyTorch way.

The 64 pixel counts of the UCI digits are treated as a plain feature table: standardise them with
the training set's mean and standard deviation (what ``StandardScaler`` does), hold out a
validation split, train a Linear/ReLU/Dropout network with Adam and cross-entropy, stop early
when validation accuracy stops improving, keep the best model's ``state_dict`` on disk and load
it back for the final test score.

``torch_mlp.py`` and ``mlp.py`` differ only in their import lines (test_ports.py checks it).
"""

import os
import tempfile

from _data import digits
from torch import from_numpy, load, manual_seed, no_grad, randperm, save
from torch.nn import CrossEntropyLoss, Dropout, Linear, Module, ReLU, Sequential
from torch.optim import Adam

EPOCHS = 60
PATIENCE = 8
BATCH_SIZE = 64
VAL_FRACTION = 0.2


class MLP(Module):
    def __init__(self, n_features, n_classes, hidden=64, p=0.2):
        super().__init__()
        self.net = Sequential(
            Linear(n_features, hidden),
            ReLU(),
            Dropout(p),
            Linear(hidden, hidden),
            ReLU(),
            Dropout(p),
            Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.net(x)


def accuracy(model, x, y):
    model.eval()
    with no_grad():
        _, predicted = model(x).max(1)
    return (predicted == y).float().mean().item()


def main(seed=0):
    manual_seed(seed)
    x_all, y_all = digits("train")
    x_test, y_test = digits("test")
    x_all, y_all = from_numpy(x_all), from_numpy(y_all)
    x_test, y_test = from_numpy(x_test), from_numpy(y_test)

    # Train/validation split of the training rows.
    perm = randperm(x_all.size(0))
    n_val = int(VAL_FRACTION * x_all.size(0))
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    x_val, y_val = x_all[val_idx], y_all[val_idx]

    # StandardScaler: statistics of the training rows only; constant columns stay at zero.
    mean = x_train.mean(dim=0, keepdim=True)
    std = x_train.std(dim=0, keepdim=True).clamp(min=1e-6)
    x_train, x_val, x_test = (x_train - mean) / std, (x_val - mean) / std, (x_test - mean) / std

    model = MLP(x_train.size(1), 10)
    optimizer = Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    criterion = CrossEntropyLoss()

    best_acc, best_epoch, bad_epochs = -1.0, -1, 0
    with tempfile.TemporaryDirectory() as tmp:
        best_path = os.path.join(tmp, "best.pt")
        for epoch in range(EPOCHS):
            model.train()
            order = randperm(x_train.size(0))
            for start in range(0, x_train.size(0), BATCH_SIZE):
                idx = order[start : start + BATCH_SIZE]
                optimizer.zero_grad()
                loss = criterion(model(x_train[idx]), y_train[idx])
                loss.backward()
                optimizer.step()
            val_acc = accuracy(model, x_val, y_val)
            if val_acc > best_acc:
                best_acc, best_epoch, bad_epochs = val_acc, epoch, 0
                save(model.state_dict(), best_path)
            else:
                bad_epochs += 1
                if bad_epochs >= PATIENCE:
                    break
        final_val_acc = accuracy(model, x_val, y_val)
        model.load_state_dict(load(best_path))

    restored_val_acc = accuracy(model, x_val, y_val)
    test_acc = accuracy(model, x_test, y_test)
    print(
        f"epochs run {epoch + 1}, best epoch {best_epoch + 1}: val acc {best_acc:.4f} "
        f"(last epoch {final_val_acc:.4f}, restored {restored_val_acc:.4f}), "
        f"test acc {test_acc:.4f}, final train loss {loss.item():.4f}"
    )
    return {
        "best_val_acc": best_acc,
        "restored_val_acc": restored_val_acc,
        "test_acc": test_acc,
        "epochs": epoch + 1,
        "state_shapes": {k: tuple(v.shape) for k, v in model.state_dict().items()},
    }


if __name__ == "__main__":
    main()
