"""Answer SQL queries against one Spark warehouse, one JSON line in, one JSON line out.

A JVM keeps the Hive metastore location it started with, so each warehouse built by the
tests gets its own query process instead of sharing the pytest process's Spark session.
Usage: python spark_query_server.py WAREHOUSE_DIR
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal

from pyspark.sql import SparkSession


def plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def main() -> None:
    warehouse_dir = sys.argv[1]
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", warehouse_dir)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir}")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={warehouse_dir}/metastore_db;create=true",
        )
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            rows = spark.sql(request["sql"]).collect()
            answer = {"rows": [[plain(v) for v in row] for row in rows]}
        except Exception as exc:  # the caller raises it with the query attached
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
