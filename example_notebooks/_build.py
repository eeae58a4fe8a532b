"""Build the example notebooks from the cell sources below.

The notebooks are committed as ``.ipynb`` files (outputs cleared); this script is how they
are written, so a change to an example is a reviewable diff of Python strings rather than
of notebook JSON. Cell ids are derived from the notebook name and cell position so that
rebuilding an unchanged notebook reproduces the file byte for byte::

    python example_notebooks/_build.py
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
PREDICT_IO = {"predict_input": "X_test", "predict_output": "y_pred"}

# A cell is ("md", text) or ("code", text) or ("code", text, role).
CellSpec = tuple[str, ...]


def md(text: str) -> CellSpec:
    """A markdown cell."""
    return ("md", text)


def code(text: str, role: str | None = None) -> CellSpec:
    """A code cell, tagged with ``role`` when given."""
    return ("code", text) if role is None else ("code", text, role)


CHURN: list[CellSpec] = [
    md(
        """
        # Customer churn

        Which customers are about to cancel? This notebook trains a logistic-regression
        baseline on the customer export from the billing system (`data/churn.csv`) so the
        retention team can prioritise its calls.

        Steps: load and clean the export → explore → build features → fit a scikit-learn
        pipeline → evaluate on a held-out set of customers.
        """
    ),
    code(
        """
        import numpy as np
        import pandas as pd
        import matplotlib.pyplot as plt

        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, classification_report
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
        """
    ),
    md("## Parameters\n\nChange these (or pass them with papermill `-p`) to rerun the analysis."),
    code(
        """
        data_path: str = "data/churn.csv"  # billing export, relative to this notebook
        test_size: float = 0.2  # share of customers held out for evaluation
        random_state: int = 42  # seed for the train/test split
        C: float = 0.5  # inverse regularisation strength
        max_iter: int = 1000  # solver iterations (lbfgs needs a few hundred here)
        """,
        "parameters",
    ),
    md(
        """
        ## Load and clean

        `total_charges` is blank for customers in their first month, and a few other
        fields are missing. The target comes as `Yes`/`No`.
        """
    ),
    code(
        """
        raw = pd.read_csv(data_path)
        print(raw.shape)

        df = raw.drop(columns=["customer_id"])
        # New customers have not been billed yet: their total is what they pay per month so far.
        billed_so_far = df["monthly_charges"] * df["tenure_months"]
        df["total_charges"] = df["total_charges"].fillna(billed_so_far)
        df["churn"] = (df["churn"] == "Yes").astype(int)
        """,
        "load",
    ),
    code("df.head()"),
    code("df.describe()"),
    code(
        """
        df.isna().sum()
        """
    ),
    md("## Exploration"),
    code(
        '''
        def churn_rate_by(frame, column):
            """Churn rate and customer count for each value of `column`."""
            return (
                frame.groupby(column)["churn"]
                .agg(rate="mean", customers="size")
                .sort_values("rate", ascending=False)
            )
        '''
    ),
    code('churn_rate_by(df, "contract")'),
    code('churn_rate_by(df, "payment_method")'),
    code(
        """
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        df.boxplot(column="tenure_months", by="churn", ax=axes[0])
        axes[0].set_title("Tenure by churn")
        churn_rate_by(df, "internet_service")["rate"].plot.bar(ax=axes[1], color="tab:orange")
        axes[1].set_title("Churn rate by internet service")
        plt.suptitle("")
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        """
        ## Features and split

        Month-to-month contracts and electronic-check payers churn most; tenure matters a
        lot. Keep the numeric columns and one-hot encode the categorical ones.
        """
    ),
    code(
        """
        numeric_features = ["tenure_months", "monthly_charges", "total_charges", "support_calls",
                            "senior_citizen"]
        categorical_features = ["gender", "contract", "internet_service", "payment_method"]

        X = df[numeric_features + categorical_features]
        y = df["churn"]
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y
        )
        """,
        "load",
    ),
    code('print(f"train: {X_train.shape}, test: {X_test.shape}, churn rate {y_train.mean():.1%}")'),
    md("## Model"),
    code(
        """
        numeric_pipeline = Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ])
        categorical_pipeline = Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ])
        preprocess = ColumnTransformer([
            ("num", numeric_pipeline, numeric_features),
            ("cat", categorical_pipeline, categorical_features),
        ])

        model = Pipeline([
            ("preprocess", preprocess),
            ("clf", LogisticRegression(C=C, max_iter=max_iter)),
        ])
        model.fit(X_train, y_train)
        """,
        "train",
    ),
    md("## Evaluate"),
    code(
        """
        y_pred = model.predict(X_test)
        acc = accuracy_score(y_test, y_pred)
        """,
        "predict",
    ),
    code(
        """
        print(f"accuracy: {acc:.3f} (baseline {1 - y_test.mean():.3f})")
        print(classification_report(y_test, y_pred, target_names=["stays", "churns"]))
        """
    ),
    code(
        """
        ConfusionMatrixDisplay.from_predictions(y_test, y_pred, display_labels=["stays", "churns"])
        plt.show()
        """
    ),
    code(
        """
        # Which features push towards churn?
        names = model.named_steps["preprocess"].get_feature_names_out()
        coefs = pd.Series(model.named_steps["clf"].coef_[0], index=names).sort_values()
        coefs.plot.barh(figsize=(6, 6))
        plt.show()
        """,
        "skip",
    ),
]

HOUSES: list[CellSpec] = [
    md(
        """
        # House prices

        Estimate sale prices from listing data (`data/houses.csv`). Prices are skewed, so
        the model is fitted on log-price and predictions are converted back to currency.
        """
    ),
    code(
        """
        import numpy as np
        import pandas as pd
        import matplotlib.pyplot as plt
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import GradientBoostingRegressor
        from sklearn.metrics import mean_absolute_error, r2_score
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder

        pd.set_option("display.max_columns", 30)
        """
    ),
    code(
        """
        # Parameters
        data_path: str = "data/houses.csv"  # listing export
        test_size: float = 0.2
        random_state: int = 7  # split and boosting seed
        n_estimators: int = 250  # boosting rounds
        learning_rate: float = 0.05
        max_depth: int = 3  # depth of each tree
        """,
        "parameters",
    ),
    md(
        """
        ## Feature engineering

        Raw listings have build and renovation years and a sale date; what drives price is
        the *effective age* at sale, the size per bedroom and the (log) lot size.
        """
    ),
    code(
        '''
        def add_features(df: pd.DataFrame) -> pd.DataFrame:
            """Derive age, renovation, date and size features from the raw listing columns."""
            out = df.copy()
            sale_date = pd.to_datetime(out["sale_date"])
            out["sale_year"] = sale_date.dt.year
            out["sale_month"] = sale_date.dt.month
            effective_year = out[["year_built", "year_renovated"]].max(axis=1)
            out["age_at_sale"] = out["sale_year"] - effective_year
            out["renovated"] = (out["year_renovated"] > 0).astype(int)
            out["sqft_per_bedroom"] = out["sqft_living"] / out["bedrooms"].clip(lower=1)
            out["log_lot_size"] = np.log1p(out["lot_size"])
            out["condition_score"] = out["condition"].map(
                {"Poor": 1, "Fair": 2, "Good": 3, "Very Good": 4, "Excellent": 5}
            )
            return out
        '''
    ),
    md("## Load"),
    code(
        """
        houses = pd.read_csv(data_path)

        # The listing system writes -1 when the lot size is unknown.
        houses.loc[houses["lot_size"] < 0, "lot_size"] = np.nan
        houses["lot_size"] = houses["lot_size"].fillna(houses["lot_size"].median())
        houses["garage_spaces"] = houses["garage_spaces"].fillna(0)

        houses = add_features(houses)
        """,
        "load",
    ),
    code("houses.head()"),
    code("houses.describe().T"),
    code(
        """
        fig, axes = plt.subplots(1, 3, figsize=(14, 4))
        houses["price"].plot.hist(bins=40, ax=axes[0], title="price")
        np.log(houses["price"]).plot.hist(bins=40, ax=axes[1], title="log price")
        axes[2].scatter(houses["sqft_living"], houses["price"], s=4, alpha=0.4)
        axes[2].set_xlabel("sqft_living")
        plt.tight_layout()
        plt.show()
        """
    ),
    code(
        """
        houses.groupby("neighbourhood")["price"].median().sort_values().plot.barh()
        plt.show()
        """
    ),
    code(
        """
        numeric = houses.select_dtypes("number").drop(columns=["house_id"])
        numeric.corr()["price"].sort_values(ascending=False)
        """
    ),
    md("## Train / test split"),
    code(
        """
        feature_columns = [
            "sqft_living", "log_lot_size", "bedrooms", "bathrooms", "garage_spaces",
            "age_at_sale", "renovated", "sqft_per_bedroom", "condition_score", "sale_year",
            "neighbourhood",
        ]
        X = houses[feature_columns]
        y = houses["price"]
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state
        )
        """,
        "load",
    ),
    md("## Gradient boosting on log-price"),
    code(
        """
        encode = ColumnTransformer(
            [("hood", OneHotEncoder(handle_unknown="ignore"), ["neighbourhood"])],
            remainder="passthrough",
        )
        model = Pipeline([
            ("encode", encode),
            ("gbr", GradientBoostingRegressor(
                n_estimators=n_estimators,
                learning_rate=learning_rate,
                max_depth=max_depth,
                random_state=random_state,
            )),
        ])
        model.fit(X_train, np.log(y_train))
        """,
        "train",
    ),
    code(
        """
        y_pred = np.exp(model.predict(X_test))
        mae = mean_absolute_error(y_test, y_pred)
        r2 = r2_score(y_test, y_pred)
        """,
        "predict",
    ),
    code(
        """
        print(f"MAE: {mae:,.0f}   R²: {r2:.3f}")
        plt.scatter(y_test, y_pred, s=5, alpha=0.5)
        plt.plot([y_test.min(), y_test.max()], [y_test.min(), y_test.max()], "k--")
        plt.xlabel("actual")
        plt.ylabel("predicted")
        plt.show()
        """
    ),
]

DIGITS: list[CellSpec] = [
    md(
        """
        # Handwritten digits

        A random forest on scikit-learn's bundled 8×8 digit images (`load_digits`). The model
        works on plain numpy arrays: each row is 64 pixel intensities scaled to [0, 1].
        """
    ),
    code(
        """
        import numpy as np
        import matplotlib.pyplot as plt
        from sklearn.datasets import load_digits
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.metrics import accuracy_score, confusion_matrix
        from sklearn.model_selection import train_test_split
        """
    ),
    code(
        """
        n_estimators: int = 150  # trees in the forest
        max_depth: int | None = None  # None grows trees until leaves are pure
        test_size: float = 0.25
        random_state: int = 0
        """,
        "parameters",
    ),
    code(
        """
        digits = load_digits()
        X = digits.data / 16.0  # pixel intensities are 0..16
        y = digits.target
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y
        )
        """,
        "load",
    ),
    code(
        """
        print(X.shape, X.dtype)
        np.bincount(y)
        """
    ),
    code(
        '''
        def show_digits(images, labels, title=None, n=10):
            """Plot the first `n` 8x8 images with their labels."""
            fig, axes = plt.subplots(1, n, figsize=(n * 1.2, 1.6))
            for ax, image, label in zip(axes, images, labels):
                ax.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r")
                ax.set_title(str(label))
                ax.axis("off")
            if title:
                fig.suptitle(title)
            plt.show()
        '''
    ),
    code('show_digits(X_train, y_train, title="training examples")'),
    code(
        """
        model = RandomForestClassifier(
            n_estimators=n_estimators, max_depth=max_depth, random_state=random_state, n_jobs=1
        )
        model.fit(X_train, y_train)
        """,
        "train",
    ),
    code(
        """
        y_pred = model.predict(X_test)
        acc = accuracy_score(y_test, y_pred)
        """,
        "predict",
    ),
    code(
        """
        print(f"test accuracy: {acc:.3f}")
        confusion_matrix(y_test, y_pred)
        """
    ),
    code(
        """
        wrong = np.flatnonzero(y_pred != y_test)
        show_digits(X_test[wrong], [f"{p}≠{t}" for p, t in zip(y_pred[wrong], y_test[wrong])],
                    title="mistakes (predicted≠true)", n=min(10, len(wrong)))
        """,
        "skip",
    ),
]

SALES: list[CellSpec] = [
    md(
        """
        # Weekly sales forecast (messy version)

        Quick model of units sold per store/category/week. Needs scikit-learn; on a fresh
        machine run the install cell first.
        """
    ),
    code("!pip install -q scikit-learn"),
    code(
        """
        %matplotlib inline
        import numpy as np
        import pandas as pd
        import matplotlib.pyplot as plt
        from sklearn.base import BaseEstimator, TransformerMixin
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.metrics import mean_absolute_error
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder
        """
    ),
    code(
        """
        test_size = 0.2
        random_state = 1
        n_estimators = 120  # more trees barely help
        min_samples_leaf: int = 3
        """,
        "parameters",
    ),
    code(
        """
        df = pd.read_csv("data/sales.csv")
        df["category"] = df["category"].str.title()  # some rows were typed in lower case
        df = df[df["units_sold"] >= 0].reset_index(drop=True)
        df.head()
        """,
        "load",
    ),
    code(
        """
        display(df.head())
        df.info()
        """
    ),
    code("df.describe()"),
    code(
        """
        df.groupby(["category", "promo"])["units_sold"].mean().unstack()
        """
    ),
    code(
        '''
        class LogTransformer(BaseEstimator, TransformerMixin):
            """log(x + offset) for skewed, non-negative columns such as spend and footfall."""

            def __init__(self, offset=1.0):
                self.offset = offset

            def fit(self, X, y=None):
                # scikit-learn checks for a trailing-underscore attribute to tell fitted from not.
                self.n_features_in_ = np.asarray(X).shape[1]
                return self

            def transform(self, X):
                values = np.asarray(X, dtype=float)
                return np.log(np.clip(values, 0, None) + self.offset)
        '''
    ),
    code(
        """
        skewed = ["ad_spend", "footfall"]
        other_numeric = ["week", "promo", "temperature", "unit_price"]
        categorical = ["store", "region", "category"]

        X = df[skewed + other_numeric + categorical]
        y = df["units_sold"]
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state
        )
        """,
        "load",
    ),
    code(
        """
        # quick look: does spend matter once it's logged?
        X = df[["ad_spend", "footfall"]]
        X = LogTransformer().fit_transform(X.fillna(0))
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        axes[0].scatter(X[:, 0], df["units_sold"], s=4)
        axes[0].set_xlabel("log ad_spend")
        axes[1].scatter(X[:, 1], df["units_sold"], s=4)
        axes[1].set_xlabel("log footfall")
        plt.show()
        """
    ),
    code(
        """
        %%time
        preprocess = ColumnTransformer([
            ("skewed", Pipeline([("impute", SimpleImputer(strategy="median")),
                                 ("log", LogTransformer())]), skewed),
            ("num", "passthrough", other_numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ])
        model = Pipeline([
            ("prep", preprocess),
            ("rf", RandomForestRegressor(n_estimators=n_estimators,
                                         min_samples_leaf=min_samples_leaf,
                                         random_state=random_state, n_jobs=1)),
        ])
        model.fit(X_train, y_train)
        """,
        "train",
    ),
    code(
        """
        preds = model.predict(X_test)
        mae = mean_absolute_error(y_test, preds)
        mae
        """,
        "predict",
    ),
    code(
        """
        resid = y_test - preds
        plt.hist(resid, bins=30)
        plt.title(f"residuals (MAE {mae:.2f})")
        plt.show()
        """
    ),
]

# Tagged the way people tag when nobody makes them tag everything: only the parameters, the
# cell that reads the data, the split, the fit and the prediction. Constants, helpers (one
# reading the constants through a default argument, one that only plots), feature
# engineering, exploration and a slow cross-validation stay untagged; the predict cell also
# prints, plots and writes a CSV.
BIKES: list[CellSpec] = [
    md(
        """
        # Bike-share demand

        How many bikes will each station rent out tomorrow? Daily counts per station from
        the operator's log (`data/bike_rentals.csv`), with the weather of the day. The
        forecast feeds the overnight rebalancing plan.
        """
    ),
    code(
        """
        import os

        import pandas as pd
        import matplotlib.pyplot as plt
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.metrics import mean_absolute_error
        from sklearn.model_selection import cross_val_score, train_test_split
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder
        """
    ),
    code(
        """
        test_size = 0.2
        random_state = 3
        n_estimators = 150
        min_samples_leaf = 2
        """,
        "parameters",
    ),
    code(
        """
        DATA_DIR = "data"
        RENTALS_CSV = os.path.join(DATA_DIR, "bike_rentals.csv")
        OUTPUT_DIR = "outputs"
        PREDICTIONS_CSV = os.path.join(OUTPUT_DIR, "rental_predictions.csv")
        TARGET = "rentals"
        CATEGORICAL = ["station", "weather"]
        os.makedirs(OUTPUT_DIR, exist_ok=True)
        """
    ),
    md("## Helpers"),
    code(
        '''
        def load_rentals(path=RENTALS_CSV):
            """The rental log with parsed dates, without the days a station's counter failed."""
            frame = pd.read_csv(path, parse_dates=["date"])
            return frame.dropna(subset=[TARGET]).reset_index(drop=True)


        def add_calendar_features(frame, date_column="date"):
            """Day of week, month and a weekend flag from the date."""
            out = frame.copy()
            out["day_of_week"] = out[date_column].dt.day_of_week
            out["month"] = out[date_column].dt.month
            out["is_weekend"] = (out["day_of_week"] >= 5).astype(int)
            return out


        def plot_predictions(actual, predicted, title="Predicted vs actual rentals"):
            """Scatter of predictions against the truth, with the diagonal."""
            fig, ax = plt.subplots(figsize=(5, 5))
            ax.scatter(actual, predicted, s=6, alpha=0.5)
            low, high = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
            ax.plot([low, high], [low, high], "k--")
            ax.set_xlabel("actual")
            ax.set_ylabel("predicted")
            ax.set_title(title)
            plt.show()
        '''
    ),
    md("## Load"),
    code(
        """
        rentals = load_rentals()
        print(rentals.shape)
        """,
        "load",
    ),
    code("rentals.describe()"),
    code(
        """
        rentals.groupby("weather")[TARGET].mean().plot.bar(title="mean rentals by weather")
        plt.show()
        """
    ),
    md(
        """
        ## Features

        Demand follows the calendar (weekends, season) and the weather; wind takes the
        edge off a warm day.
        """
    ),
    code(
        """
        rentals = add_calendar_features(rentals)
        rentals["feels_like"] = rentals["temperature"] - 0.2 * rentals["windspeed"]
        rentals.groupby("day_of_week")[TARGET].mean().plot.bar(title="mean rentals by weekday")
        plt.show()
        """
    ),
    code(
        """
        feature_columns = [
            "station", "weather", "temperature", "feels_like", "humidity", "windspeed",
            "holiday", "day_of_week", "month", "is_weekend",
        ]
        X = rentals[feature_columns]
        y = rentals[TARGET]
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state
        )
        """,
        "load",
    ),
    md("## Model"),
    code(
        """
        encode = ColumnTransformer(
            [("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)],
            remainder="passthrough",
        )
        model = Pipeline([
            ("encode", encode),
            ("forest", RandomForestRegressor(
                n_estimators=n_estimators,
                min_samples_leaf=min_samples_leaf,
                random_state=random_state,
                n_jobs=1,
            )),
        ])
        model.fit(X_train, y_train)
        """,
        "train",
    ),
    code(
        """
        # Slow: refits the forest three times. Is the split's error typical?
        scores = cross_val_score(model, X_train, y_train, cv=3, scoring="neg_mean_absolute_error")
        print(f"cross-validated MAE: {-scores.mean():.1f} ± {scores.std():.1f}")
        """
    ),
    md("## Predict"),
    code(
        """
        y_pred = model.predict(X_test)
        mae = mean_absolute_error(y_test, y_pred)
        print(f"test MAE: {mae:.1f} rentals a day")
        plot_predictions(y_test, y_pred)
        pd.DataFrame({"actual": y_test, "predicted": y_pred}).to_csv(PREDICTIONS_CSV)
        """,
        "predict",
    ),
    code(
        """
        errors = (y_test - y_pred).abs()
        errors.groupby(X_test["station"]).mean().plot.barh(title="mean absolute error by station")
        plt.show()
        """
    ),
]

NOTEBOOKS: dict[str, tuple[list[CellSpec], dict[str, str] | None]] = {
    "churn.ipynb": (CHURN, PREDICT_IO),
    "house_prices.ipynb": (HOUSES, PREDICT_IO),
    "digits.ipynb": (DIGITS, PREDICT_IO),
    # The messy notebook leaves predict input/output to the converter's inference.
    "messy_sales.ipynb": (SALES, None),
    "sparse_tags.ipynb": (BIKES, PREDICT_IO),
}


def cell_id(notebook_name: str, index: int) -> str:
    """A stable, valid nbformat cell id for ``index`` in ``notebook_name``."""
    return hashlib.sha256(f"{notebook_name}:{index}".encode()).hexdigest()[:8]


def build_notebook(name: str, cells: list[CellSpec], mlprod: dict[str, str] | None):
    """Assemble one notebook from its cell specs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    if mlprod is not None:
        nb.metadata["mlprod"] = dict(mlprod)
    for index, spec in enumerate(cells):
        source = dedent(spec[1]).strip("\n")
        if spec[0] == "md":
            cell = new_markdown_cell(source)
        else:
            cell = new_code_cell(source)
            if len(spec) > 2:
                cell.metadata["tags"] = [spec[2]]
        cell.id = cell_id(name, index)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main() -> None:
    """Write every example notebook next to this script."""
    for name, (cells, mlprod) in NOTEBOOKS.items():
        nb = build_notebook(name, cells, mlprod)
        nbformat.write(nb, HERE / name)
        print(f"wrote {name}: {len(nb.cells)} cells")


if __name__ == "__main__":
    main()
