"""The Airflow DAG that ``schedule --export airflow`` writes runs in a real Airflow.

One virtual environment per test session holds ``apache-airflow`` (pinned) and the package
converted from the churn example; Airflow's metadata database is SQLite in a temporary
``AIRFLOW_HOME``. ``DagBag`` must import the file without errors, and ``airflow dags test``
must run the task: a new model version appears in the store and the task returns its id.
Installing Airflow takes about a minute here; the DAG run about fifteen seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jupyter_mlprod.cli import main as nb2prod

pytestmark = pytest.mark.slow

AIRFLOW = "apache-airflow==3.3.2"
EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"


@dataclass
class AirflowEnv:
    """A venv with Airflow and the converted churn package, and a workspace to train in."""

    bin: Path
    workdir: Path

    def env(self, home: Path, dags: Path) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW", "MLPROD_", "PYTHON"))
        }
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            # Unsigned stores, as the other package tests use.
            MLPROD_UNSIGNED_OK="1",
            PATH=f"{self.bin}{os.pathsep}{os.environ['PATH']}",
        )
        return env

    def run(
        self, *args: str, env: dict[str, str], timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowEnv]:
    """Built once per test run and shared by every Airflow test."""
    root = tmp_path_factory.mktemp("airflow")
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    # The package's data paths are relative to the notebook's folder, where train runs.
    workdir = root / "work"
    shutil.copytree(EXAMPLES / "data", workdir / "data")
    package = root / "churn_pkg"
    assert nb2prod(["convert", str(EXAMPLES / "churn.ipynb"), "-o", str(package)]) == 0
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", AIRFLOW, str(package)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    yield AirflowEnv(bin=python.parent, workdir=workdir)


def write_dag(
    airflow_env: AirflowEnv, env: dict[str, str], dag_file: Path, models: Path, *when: str
) -> None:
    """``churn-model schedule --export airflow``, as a user runs it in the Airflow venv."""
    written = airflow_env.run(
        "churn-model",
        "schedule",
        *when,
        "--export",
        "airflow",
        "-o",
        str(dag_file),
        "--promote-if-better",
        "acc",
        "--model-dir",
        str(models),
        env=env,
    )
    assert written.returncode == 0, written.stderr


def test_generated_dag_loads_and_its_run_registers_a_new_version(
    airflow_env: AirflowEnv, tmp_path: Path
) -> None:
    home, dags, models = tmp_path / "home", tmp_path / "dags", tmp_path / "models"
    env = airflow_env.env(home, dags)
    dag_file = dags / "churn_retrain.py"
    write_dag(airflow_env, env, dag_file, models, "--every", "daily")
    migrated = airflow_env.run("airflow", "db", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr[-2000:]

    loaded = airflow_env.run(
        airflow_env.bin / "python",
        "-c",
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(sys.argv[1])\n"
        "dag = bag.dags.get('churn_model_retrain')\n"
        "print(json.dumps({'errors': {str(k): v for k, v in bag.import_errors.items()},\n"
        "  'dags': sorted(bag.dags), 'tasks': [t.task_id for t in dag.tasks] if dag else [],\n"
        "  'retries': dag.tasks[0].retries if dag else None}))",
        dags,
        env=env,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    facts = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert facts == {
        "errors": {},
        "dags": ["churn_model_retrain"],
        "tasks": ["train"],
        "retries": 2,
    }

    for expected in ("v1", "v2"):
        ran = airflow_env.run("airflow", "dags", "test", "churn_model_retrain", env=env)
        assert ran.returncode == 0, (ran.stdout + ran.stderr)[-4000:]
        assert expected in sorted(p.name for p in models.iterdir() if p.name.startswith("v"))
        # The task's return value (its XCom) is the new version's id.
        assert f"{expected}: " in ran.stdout + ran.stderr
    aliases = json.loads((models / "aliases.json").read_text())
    assert aliases["production"]["version"] in ("v1", "v2")
    manifest = json.loads((models / "v2" / "manifest.json").read_text())
    assert manifest["promotion"]["metric"] == "acc"
    assert manifest["promotion"]["production_version"] == "v1"


def test_a_failing_train_fails_the_dag_run(airflow_env: AirflowEnv, tmp_path: Path) -> None:
    home, dags, models = tmp_path / "home", tmp_path / "dags", tmp_path / "models"
    env = airflow_env.env(home, dags)
    dag_file = dags / "churn_retrain.py"
    write_dag(airflow_env, env, dag_file, models, "--cron", "0 3 * * *")
    # No retries here: the point is that a failure is a failed run, not a silent success.
    dag_file.write_text(dag_file.read_text().replace('"retries": 2', '"retries": 0'))
    # Train runs in a folder without the notebook's data: the notebook's code fails.
    broken = tmp_path / "empty-workdir"
    broken.mkdir()
    dag_file.write_text(
        dag_file.read_text().replace(repr(str(airflow_env.workdir)), repr(str(broken)))
    )
    assert airflow_env.run("airflow", "db", "migrate", env=env).returncode == 0
    ran = airflow_env.run("airflow", "dags", "test", "churn_model_retrain", env=env)
    assert ran.returncode != 0, (ran.stdout + ran.stderr)[-3000:]
    assert "train exited with" in ran.stdout + ran.stderr
    assert not models.exists() or not [p for p in models.iterdir() if p.name.startswith("v")]
