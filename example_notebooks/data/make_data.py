"""Generate the synthetic data sets the example notebooks read.

The data is synthetic but shaped like the real thing (ids, categorical columns, missing
values, skewed amounts) so the notebooks exercise the cleaning code a data scientist would
really write. Everything comes from one seeded generator per file, so rerunning this script
reproduces the committed CSVs byte for byte::

    python example_notebooks/data/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent
SEED = 20240611


def make_churn(rng: np.random.Generator, n_rows: int = 2000) -> pd.DataFrame:
    """Telecom-style customer table with a Yes/No ``churn`` target."""
    contract = rng.choice(
        ["Month-to-month", "One year", "Two year"], size=n_rows, p=[0.55, 0.25, 0.20]
    )
    internet = rng.choice(["DSL", "Fiber optic", "No"], size=n_rows, p=[0.35, 0.45, 0.20])
    payment = rng.choice(
        ["Electronic check", "Mailed check", "Bank transfer", "Credit card"],
        size=n_rows,
        p=[0.34, 0.22, 0.22, 0.22],
    )
    senior = (rng.random(n_rows) < 0.16).astype(int)
    # Longer contracts go with longer tenure, as in real subscriber bases.
    tenure_scale = np.select(
        [contract == "Month-to-month", contract == "One year"], [14.0, 32.0], default=48.0
    )
    tenure = np.clip(rng.exponential(tenure_scale), 0, 72).round().astype(int)
    base = np.select([internet == "Fiber optic", internet == "DSL"], [70.0, 50.0], default=22.0)
    monthly = np.round(base + rng.normal(0, 12, n_rows).clip(-15, 40), 2)
    total = np.round(monthly * tenure + rng.normal(0, 25, n_rows), 2).clip(min=0)
    support_calls = rng.poisson(1.2 + 0.8 * (internet == "Fiber optic"), n_rows)

    logit = (
        -1.2
        + 1.4 * (contract == "Month-to-month")
        - 1.0 * (contract == "Two year")
        + 0.6 * (internet == "Fiber optic")
        + 0.5 * (payment == "Electronic check")
        + 0.4 * senior
        - 0.045 * tenure
        + 0.012 * (monthly - 60)
        + 0.3 * support_calls
    )
    churn = rng.random(n_rows) < 1 / (1 + np.exp(-logit))

    df = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(n_rows)],
            "gender": rng.choice(["Female", "Male"], size=n_rows),
            "senior_citizen": senior,
            "tenure_months": tenure,
            "contract": contract,
            "internet_service": internet,
            "payment_method": payment,
            "monthly_charges": monthly,
            "total_charges": total,
            "support_calls": support_calls,
            "churn": np.where(churn, "Yes", "No"),
        }
    )
    # Real exports have holes: blank totals for brand-new customers, unknown payment methods.
    df.loc[df["tenure_months"] == 0, "total_charges"] = np.nan
    df.loc[rng.random(n_rows) < 0.03, "total_charges"] = np.nan
    df.loc[rng.random(n_rows) < 0.02, "payment_method"] = np.nan
    df.loc[rng.random(n_rows) < 0.02, "monthly_charges"] = np.nan
    return df


def make_houses(rng: np.random.Generator, n_rows: int = 1500) -> pd.DataFrame:
    """House sales with a ``price`` target and raw columns that want feature engineering."""
    neighbourhoods = ["Northside", "Riverside", "Old Town", "Hillcrest", "Lakeview", "Eastgate"]
    premium = dict(zip(neighbourhoods, [1.00, 1.15, 1.30, 1.45, 1.25, 0.90], strict=True))
    hood = rng.choice(neighbourhoods, size=n_rows)
    bedrooms = rng.choice([1, 2, 3, 4, 5, 6], size=n_rows, p=[0.05, 0.2, 0.38, 0.25, 0.1, 0.02])
    sqft = np.round(400 + bedrooms * 380 + rng.normal(0, 260, n_rows)).clip(350).astype(int)
    bathrooms = np.clip(np.round((bedrooms * 0.6 + rng.normal(0.4, 0.5, n_rows)) * 2) / 2, 1, 5)
    lot = np.round(rng.lognormal(8.6, 0.5, n_rows)).astype(int)
    year_built = rng.integers(1920, 2021, n_rows)
    renovated = np.where(
        (rng.random(n_rows) < 0.25) & (year_built < 2000),
        np.minimum(year_built + rng.integers(10, 60, n_rows), 2022),
        0,
    )
    condition = rng.choice(
        ["Poor", "Fair", "Good", "Very Good", "Excellent"],
        size=n_rows,
        p=[0.05, 0.2, 0.45, 0.2, 0.1],
    )
    condition_factor = (
        pd.Series(condition)
        .map({"Poor": 0.8, "Fair": 0.9, "Good": 1.0, "Very Good": 1.08, "Excellent": 1.18})
        .to_numpy()
    )
    garage = rng.choice([0, 1, 2, 3], size=n_rows, p=[0.15, 0.35, 0.42, 0.08])
    sale_year = rng.integers(2015, 2024, n_rows)
    sale_month = rng.integers(1, 13, n_rows)
    effective_year = np.maximum(year_built, renovated)
    age = sale_year - effective_year
    price = (
        (60_000 + 155 * sqft + 3.5 * np.sqrt(lot) * 100 + 9_000 * garage - 550 * age)
        * np.vectorize(premium.get)(hood)
        * condition_factor
        * (1 + 0.035 * (sale_year - 2015))
        * rng.lognormal(0, 0.08, n_rows)
    )
    df = pd.DataFrame(
        {
            "house_id": np.arange(1, n_rows + 1),
            "sale_date": [f"{y}-{m:02d}-15" for y, m in zip(sale_year, sale_month, strict=True)],
            "neighbourhood": hood,
            "sqft_living": sqft,
            "lot_size": lot,
            "bedrooms": bedrooms,
            "bathrooms": bathrooms,
            "year_built": year_built,
            "year_renovated": renovated,
            "condition": condition,
            "garage_spaces": garage.astype(float),
            "price": np.round(price, -2).astype(int),
        }
    )
    df.loc[rng.random(n_rows) < 0.04, "garage_spaces"] = np.nan
    df.loc[rng.random(n_rows) < 0.02, "lot_size"] = -1  # sentinel from the listing system
    return df


def make_sales(rng: np.random.Generator, n_rows: int = 1000) -> pd.DataFrame:
    """Weekly store sales with skewed spend columns and a few messy values."""
    stores = [f"S{i:02d}" for i in range(1, 13)]
    region_of = {s: ["North", "South", "East", "West"][i % 4] for i, s in enumerate(stores)}
    store = rng.choice(stores, size=n_rows)
    week = rng.integers(1, 53, n_rows)
    category = rng.choice(["Grocery", "Electronics", "Clothing", "Home"], size=n_rows)
    promo = (rng.random(n_rows) < 0.3).astype(int)
    ad_spend = np.round(rng.lognormal(6.0, 1.0, n_rows), 2)
    footfall = np.round(rng.lognormal(7.5, 0.6, n_rows)).astype(int)
    temperature = np.round(
        12 + 10 * np.sin((week - 13) / 52 * 2 * np.pi) + rng.normal(0, 3, n_rows), 1
    )
    price_level = (
        pd.Series(category)
        .map({"Grocery": 4.0, "Electronics": 120.0, "Clothing": 35.0, "Home": 55.0})
        .to_numpy()
    )
    unit_price = np.round(price_level * rng.lognormal(0, 0.15, n_rows), 2)
    units = rng.poisson(
        np.exp(
            1.0
            + 0.35 * np.log(footfall)
            + 0.12 * np.log1p(ad_spend)
            + 0.4 * promo
            - 0.25 * np.log(unit_price)
        )
    )
    df = pd.DataFrame(
        {
            "week": week,
            "store": store,
            "region": [region_of[s] for s in store],
            "category": category,
            "promo": promo,
            "ad_spend": ad_spend,
            "footfall": footfall,
            "temperature": temperature,
            "unit_price": unit_price,
            "units_sold": units,
        }
    )
    # Messy spreadsheet habits: lower-case categories, a few missing spend figures.
    lower = rng.random(n_rows) < 0.05
    df.loc[lower, "category"] = df.loc[lower, "category"].str.lower()
    df.loc[rng.random(n_rows) < 0.03, "ad_spend"] = np.nan
    return df


def make_bike_rentals(rng: np.random.Generator, n_days: int = 300) -> pd.DataFrame:
    """Daily rentals per bike-share station with weather, a holiday flag and missing counts."""
    stations = ["Central", "Harbour", "University", "Old Mill", "Parkside"]
    base = dict(zip(stations, [180.0, 120.0, 150.0, 60.0, 95.0], strict=True))
    dates = pd.date_range("2023-03-01", periods=n_days, freq="D")
    date = np.repeat(dates, len(stations))
    station = np.tile(stations, n_days)
    n_rows = len(date)
    day_of_year = date.day_of_year.to_numpy()
    temperature = np.round(
        13 + 9 * np.sin((day_of_year - 110) / 365 * 2 * np.pi) + rng.normal(0, 3, n_rows), 1
    )
    weather = rng.choice(["clear", "cloudy", "rain"], size=n_rows, p=[0.5, 0.32, 0.18])
    humidity = np.round(
        np.clip(rng.normal(62, 12, n_rows) + np.where(weather == "rain", 18, 0), 20, 100)
    ).astype(int)
    windspeed = np.round(np.abs(rng.normal(12, 6, n_rows)), 1)
    holiday = (rng.random(n_rows) < 0.03).astype(int)
    weekend = date.day_of_week.to_numpy() >= 5
    weather_factor = pd.Series(weather).map({"clear": 1.0, "cloudy": 0.85, "rain": 0.45})
    expected = (
        np.vectorize(base.get)(station)
        * weather_factor.to_numpy()
        * np.exp(0.035 * (temperature - 13) - 0.012 * (windspeed - 12))
        * np.where(weekend | (holiday == 1), 1.25, 1.0)
    )
    df = pd.DataFrame(
        {
            "date": date.strftime("%Y-%m-%d"),
            "station": station,
            "weather": weather,
            "temperature": temperature,
            "humidity": humidity,
            "windspeed": windspeed,
            "holiday": holiday,
            "rentals": rng.poisson(expected).astype(float),
        }
    )
    # The counter at a station fails now and then: no count for that day.
    df.loc[rng.random(n_rows) < 0.02, "rentals"] = np.nan
    return df


def generate() -> dict[str, pd.DataFrame]:
    """Every data set by file name, drawn in a fixed order from one seeded generator."""
    rng = np.random.default_rng(SEED)
    # The order matters: each data set continues the generator's stream.
    return {
        "churn.csv": make_churn(rng),
        "houses.csv": make_houses(rng),
        "sales.csv": make_sales(rng),
        "bike_rentals.csv": make_bike_rentals(rng),
    }


def main() -> None:
    """Write churn.csv, houses.csv, sales.csv and bike_rentals.csv next to this script."""
    for name, frame in generate().items():
        frame.to_csv(DATA_DIR / name, index=False, lineterminator="\n")
        print(f"{name}: {len(frame)} rows, {(DATA_DIR / name).stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
