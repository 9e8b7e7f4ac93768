"""Airflow DAG that keeps the `events` table compacted: one task per laketidy
subcommand, the compaction fanned out over shards.

Retries follow laketidy's exit codes (see README.md):
  0   success, including "nothing to do"   -> the task succeeds; its JSON goes to XCom
  75  lost a commit race to a run on the same partitions -> retried, with backoff
  2   usage error or invalid table definition            -> fails at once: a retry cannot fix it
  3   bad input data refused (nothing was committed)     -> fails at once: fix or quarantine the file
  4   verify found damage                                -> fails at once: page someone
  1   unexpected failure (storage, network)              -> retried
  143 stopped by the task's execution_timeout (SIGTERM): nothing was committed and
      its files were removed                             -> retried

Set LAKETIDY_TABLE to the table definition file and LAKETIDY_MANIFEST to the
manifest (dynamodb://TABLE for S3 lakes); credentials come from the worker's
standard AWS chain.
"""
import json
import os
import subprocess
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.operators.python import PythonOperator

LAKETIDY = os.environ.get("LAKETIDY_BIN", "laketidy")
TABLE = os.environ.get("LAKETIDY_TABLE", "/opt/airflow/dags/tables/events.json")
SHARDS = 4

# One entry per task: the laketidy arguments, with {table} for the definition file.
# Kept as a literal so that CI can check every command against the real binary.
TASKS = {
    "plan": ["plan", "{table}", "--output", "json"],
    "compact_0": ["compact", "{table}", "--shard", "0/4", "--output", "json", "--no-progress"],
    "compact_1": ["compact", "{table}", "--shard", "1/4", "--output", "json", "--no-progress"],
    "compact_2": ["compact", "{table}", "--shard", "2/4", "--output", "json", "--no-progress"],
    "compact_3": ["compact", "{table}", "--shard", "3/4", "--output", "json", "--no-progress"],
    "verify": ["verify", "{table}", "--output", "json"],
    "vacuum": ["vacuum", "{table}", "--retain", "7d", "--output", "json"],
}

RETRY_LATER = 75
# Once a task times out, laketidy gets this long to remove the files it wrote.
STOP_GRACE_S = 60
DO_NOT_RETRY = {2: "usage error or invalid table definition", 3: "bad input data refused", 4: "verify found damage"}


def run_laketidy(args):
    """Runs one laketidy command; returns its JSON document, or raises what Airflow should do."""
    argv = [LAKETIDY, *[a.format(table=TABLE) for a in args]]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            stdout, stderr = proc.communicate()
        except BaseException:
            # The task's timeout raises here. subprocess.run would SIGKILL laketidy and
            # leave its spill folder and uncommitted files; SIGTERM lets it remove them.
            proc.terminate()
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
            print(f"laketidy stopped with exit code {proc.returncode}")
            raise
    print(stderr)
    if proc.returncode == 0:
        return json.loads(stdout)
    if proc.returncode in DO_NOT_RETRY:
        raise AirflowFailException(f"{' '.join(argv)}: {DO_NOT_RETRY[proc.returncode]}:\n{stdout}")
    if proc.returncode == RETRY_LATER:
        raise AirflowException(f"{' '.join(argv)}: another run committed first; retrying later")
    raise AirflowException(f"{' '.join(argv)} failed with exit code {proc.returncode}:\n{stdout}")


with DAG(
    dag_id="laketidy_events",
    schedule="15 * * * *",
    start_date=datetime(2024, 3, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 5,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=15),
        # an hourly job still running after 45 minutes is stopped (and cleans up)
        "execution_timeout": timedelta(minutes=45),
    },
) as dag:
    tasks = {
        name: PythonOperator(task_id=name, python_callable=run_laketidy, op_args=[args])
        for name, args in TASKS.items()
    }
    compactions = [tasks[f"compact_{k}"] for k in range(SHARDS)]
    tasks["plan"] >> compactions
    compactions >> tasks["verify"] >> tasks["vacuum"]
