"""Build ``torch_tabular.ipynb``, the PyTorch example, from the cell sources below.

Kept apart from ``_build.py`` so that torch stays optional for the other examples; it
reuses that script's cell helpers and ``build_notebook`` (stable cell ids, cleared
outputs), so rerunning it reproduces the committed notebook byte for byte::

    python example_notebooks/_build_torch.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _build import PREDICT_IO, CellSpec, build_notebook, code, md  # noqa: E402

NAME = "torch_tabular.ipynb"

TORCH_TABULAR: list[CellSpec] = [
    md(
        """
        # Breast cancer: a small PyTorch MLP

        Binary classification of scikit-learn's bundled Wisconsin breast-cancer data
        (`load_breast_cancer`, 569 tumours, 30 numeric features; target 1 = benign). A
        two-layer MLP trained full batch with Adam on standardised features: the kind of
        baseline you write before reaching for anything bigger.
        """
    ),
    code(
        """
        import numpy as np
        import matplotlib.pyplot as plt
        import torch
        from torch import nn

        from sklearn.datasets import load_breast_cancer
        from sklearn.metrics import accuracy_score, roc_auc_score
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler
        """
    ),
    md("## Parameters"),
    code(
        """
        epochs: int = 300  # full-batch gradient steps
        lr: float = 0.003  # Adam learning rate
        hidden: int = 32  # units in each hidden layer
        dropout: float = 0.2  # dropout after each hidden layer (training only)
        weight_decay: float = 1e-4  # L2 penalty in Adam
        test_size: float = 0.25  # share of tumours held out
        random_state: int = 0  # seed for the train/test split
        seed: int = 0  # torch seed: weight init and dropout masks
        """,
        "parameters",
    ),
    md(
        """
        ## Data

        Split first, then fit the scaler on the training part only, so nothing about the
        held-out tumours leaks into the features. torch wants float32.
        """
    ),
    code(
        """
        data = load_breast_cancer()
        X, y = data.data, data.target
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y
        )
        scaler = StandardScaler().fit(X_train)
        X_train = scaler.transform(X_train).astype(np.float32)
        X_test = scaler.transform(X_test).astype(np.float32)
        """,
        "load",
    ),
    code(
        """
        print(X_train.shape, X_test.shape, X_train.dtype)
        print("benign share (train):", y_train.mean().round(3))
        """
    ),
    md("## Model"),
    code(
        '''
        class MLP(nn.Module):
            """Two hidden ReLU layers with dropout; outputs one logit per row."""

            def __init__(self, n_features=30, hidden=32, dropout=0.2):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Linear(n_features, hidden),
                    nn.ReLU(),
                    nn.Dropout(dropout),
                    nn.Linear(hidden, hidden),
                    nn.ReLU(),
                    nn.Dropout(dropout),
                    nn.Linear(hidden, 1),
                )

            def forward(self, x):
                return self.net(x).squeeze(-1)
        '''
    ),
    code(
        """
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(seed)

        model = MLP(n_features=X_train.shape[1], hidden=hidden, dropout=dropout)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        loss_fn = nn.BCEWithLogitsLoss()

        inputs = torch.from_numpy(X_train)
        targets = torch.from_numpy(y_train.astype(np.float32))
        losses = []
        model.train()
        for epoch in range(epochs):
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if epoch % 50 == 0:
                print(f"epoch {epoch:4d}  loss {loss.item():.4f}")
        model.eval()
        """,
        "train",
    ),
    code(
        """
        plt.plot(losses)
        plt.xlabel("epoch")
        plt.ylabel("training loss (BCE)")
        plt.yscale("log")
        plt.show()
        """,
        "skip",
    ),
    md("## Predict and evaluate"),
    code(
        """
        # A logit above 0 is a probability above 0.5: benign.
        y_pred = (model(torch.from_numpy(X_test)).detach().numpy() > 0).astype(np.int64)
        acc = accuracy_score(y_test, y_pred)
        """,
        "predict",
    ),
    code(
        """
        with torch.no_grad():
            proba = torch.sigmoid(model(torch.from_numpy(X_test))).numpy()
        print(f"test accuracy {acc:.3f}   ROC AUC {roc_auc_score(y_test, proba):.3f}")
        """
    ),
]


def main() -> None:
    """Write ``torch_tabular.ipynb`` next to this script."""
    nb = build_notebook(NAME, TORCH_TABULAR, PREDICT_IO)
    nbformat.write(nb, HERE / NAME)
    print(f"wrote {NAME}: {len(nb.cells)} cells")


if __name__ == "__main__":
    main()
