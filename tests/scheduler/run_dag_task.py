"""Runs one task function of the example Airflow DAG, and times it out on SIGUSR1 the
way Airflow's execution_timeout does: by raising an exception in the task, from a
signal handler, while it waits for laketidy. For the Rust tests.

usage: run_dag_task.py DAG.py ARGS.json
       (LAKETIDY_BIN and LAKETIDY_TABLE in the environment, as the DAG reads them)
Prints "ready" once the task starts, then "timed out" if the timeout interrupted it.

Airflow itself is not installed: its modules are replaced by the few names the DAG
file uses to declare tasks, so that the DAG's own code runs unchanged.
"""
import importlib.util
import json
import signal
import sys
import types


class AirflowException(Exception):
    pass


class AirflowFailException(AirflowException):
    pass


class DAG:
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class PythonOperator:
    def __init__(self, **kwargs):
        pass

    def __rshift__(self, other):
        return other

    def __rrshift__(self, other):
        return self


def install_airflow_names():
    modules = {name: types.ModuleType(name) for name in
               ["airflow", "airflow.exceptions", "airflow.operators", "airflow.operators.python"]}
    modules["airflow"].DAG = DAG
    modules["airflow.exceptions"].AirflowException = AirflowException
    modules["airflow.exceptions"].AirflowFailException = AirflowFailException
    modules["airflow.operators.python"].PythonOperator = PythonOperator
    sys.modules.update(modules)


class TaskTimeout(Exception):
    pass


def time_out(signum, frame):
    raise TaskTimeout()


def main():
    install_airflow_names()
    spec = importlib.util.spec_from_file_location("laketidy_dag", sys.argv[1])
    dag = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dag)
    signal.signal(signal.SIGUSR1, time_out)
    print("ready", flush=True)
    try:
        dag.run_laketidy(json.loads(sys.argv[2]))
    except TaskTimeout:
        print("timed out", flush=True)
        return
    sys.exit("the task ended before its timeout")


if __name__ == "__main__":
    main()
