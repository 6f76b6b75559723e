"""A digits CNN with BatchNorm, written the PyTorch way.

Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d twice, then Flatten and a Linear classifier, on the
8x8 UCI digits; a DataLoader over a TensorDataset, ``model.train()`` / ``model.eval()``,
evaluation under ``no_grad()`` with ``_, predicted = logits.max(1)``, SGD with momentum and a
StepLR schedule.

``torch_cnn.py`` and ``cnn.py`` differ only in their import lines (test_ports.py checks it).
"""

from _data import digits
from torch import from_numpy, manual_seed, no_grad
from torch.nn import (
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
)
from torch.optim import SGD
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

EPOCHS = 6
BATCH_SIZE = 32


class DigitsCNN(Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.features = Sequential(
            Conv2d(1, 16, kernel_size=3, padding=1, bias=False),
            BatchNorm2d(16),
            ReLU(),
            MaxPool2d(2),  # 8x8 -> 4x4
            Conv2d(16, 32, kernel_size=3, padding=1, bias=False),
            BatchNorm2d(32),
            ReLU(),
            MaxPool2d(2),  # 4x4 -> 2x2
        )
        self.classifier = Sequential(Flatten(), Linear(32 * 2 * 2, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def evaluate(model, loader):
    model.eval()
    correct, total = 0, 0
    with no_grad():
        for images, labels in loader:
            _, predicted = model(images).max(1)
            correct += (predicted == labels).sum().item()
            total += labels.size(0)
    return correct / total


def loader(split, shuffle):
    x, y = digits(split)
    images = from_numpy(x.reshape(-1, 1, 8, 8) / 16.0).float()
    dataset = TensorDataset(images, from_numpy(y))
    return DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=shuffle)


def main(seed=0):
    manual_seed(seed)
    train_loader, test_loader = loader("train", True), loader("test", False)
    model = DigitsCNN()
    criterion = CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)

    for epoch in range(EPOCHS):
        model.train()
        running, seen = 0.0, 0
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            running += loss.item() * images.size(0)
            seen += images.size(0)
        scheduler.step()
        test_acc = evaluate(model, test_loader)
        print(
            f"epoch {epoch + 1}: train loss {running / seen:.4f}, test acc {test_acc:.4f}, "
            f"lr {scheduler.get_last_lr()[0]:.4f}"
        )

    train_acc = evaluate(model, train_loader)
    return {
        "train_loss": running / seen,
        "train_acc": train_acc,
        "test_acc": test_acc,
        "state_shapes": {k: tuple(v.shape) for k, v in model.state_dict().items()},
    }


if __name__ == "__main__":
    main()
