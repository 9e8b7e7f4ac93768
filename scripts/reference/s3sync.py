#!/usr/bin/env python3
"""Moves reference lakes in and out of the test S3 server (boto3, from the venv).

    s3sync.py up LOCAL_DIR s3://bucket/prefix
    s3sync.py down URLS_FILE LOCAL_DIR      # writes LOCAL_DIR/<key>, prints the local paths
"""
import os
import sys

import boto3


def split(url):
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key


def main():
    s3 = boto3.client("s3")
    if sys.argv[1] == "up":
        local, url = sys.argv[2], sys.argv[3]
        bucket, prefix = split(url)
        for root, _, files in os.walk(local):
            for name in files:
                path = os.path.join(root, name)
                key = prefix.rstrip("/") + "/" + os.path.relpath(path, local)
                s3.upload_file(path, bucket, key)
    else:
        urls, dest = sys.argv[2], sys.argv[3]
        for url in open(urls).read().split():
            bucket, key = split(url)
            path = os.path.join(dest, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, key, path)
            print(path)


if __name__ == "__main__":
    main()
