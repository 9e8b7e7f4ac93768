"""Runs laketidy's DDL in a real engine and answers queries, for the Rust tests.

usage: run_sql.py ENGINE SPEC.json   (ENGINE: duckdb | spark | sqlglot)

SPEC: {"steps": [{"statements": [sql, ...], "queries": {name: sql}}]}
      for sqlglot: {"dialects": {dialect: [sql, ...]}}
Prints JSON: {"steps": [{name: [[value, ...], ...]}]} with rows sorted, values as
strings (null stays null); for sqlglot {dialect: [{"sql": ..., "node": ...}]}.
A statement that fails stops the run with exit 1 and the engine's message.
"""
import json
import os
import shutil
import sys
import tempfile


def cell(value):
    return None if value is None else str(value)


def table(rows):
    out = [[cell(v) for v in row] for row in rows]
    return sorted(out, key=lambda r: [(v is None, v or "") for v in r])


def run_steps(spec, execute, query):
    results = []
    for step in spec["steps"]:
        for sql in step["statements"]:
            try:
                execute(sql)
            except Exception as error:  # the engine's own message, with the statement
                sys.exit(f"statement failed: {error}\n--- statement ---\n{sql}")
        results.append({name: table(query(sql)) for name, sql in step["queries"].items()})
    return {"steps": results}


def duckdb_engine(spec):
    import duckdb

    con = duckdb.connect()
    return run_steps(spec, con.execute, lambda sql: con.execute(sql).fetchall())


def spark_engine(spec):
    from pyspark.sql import SparkSession

    work = tempfile.mkdtemp(prefix="laketidy-spark-")
    os.chdir(work)  # Derby writes derby.log into the working folder
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("laketidy-ddl-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.warehouse.dir", os.path.join(work, "warehouse"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={os.path.join(work, 'metastore_db')};create=true",
        )
        .config("spark.driver.memory", "1g")
        # Hive's session folder would otherwise be left in /tmp after every run
        .config("spark.hadoop.hive.downloaded.resources.dir", os.path.join(work, "resources"))
        .config("spark.hadoop.hive.exec.local.scratchdir", os.path.join(work, "scratch"))
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        return run_steps(
            spec,
            lambda sql: spark.sql(sql).collect(),
            lambda sql: [tuple(r) for r in spark.sql(sql).collect()],
        )
    finally:
        spark.stop()
        os.chdir(os.path.dirname(work))
        shutil.rmtree(work, ignore_errors=True)  # metastore and warehouse: 4 MB a run


def sqlglot_engine(spec):
    import sqlglot
    from sqlglot import exp

    out = {}
    for dialect, statements in spec["dialects"].items():
        parsed = []
        for sql in statements:
            try:
                tree = sqlglot.parse_one(sql, read=dialect)
                commands = [n for n in tree.walk() if isinstance(n, exp.Command)]
                node = "Command" if isinstance(tree, exp.Command) or commands else type(tree).__name__
            except sqlglot.errors.ParseError as error:
                node = f"ParseError: {error}"
            parsed.append({"sql": sql, "node": node})
        out[dialect] = parsed
    return out


def main():
    engine, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    engines = {"duckdb": duckdb_engine, "spark": spark_engine, "sqlglot": sqlglot_engine}
    json.dump(engines[engine](spec), sys.stdout)


if __name__ == "__main__":
    main()
