"""Running the deployment package as AWS Lambda runs it, outside AWS: the package built and unpacked read-only
(`package.py`) and each function started in a fresh, isolated interpreter by a stand-in of Lambda's Python runtime
(`runtime.py`). Used by the zip test (tests/functional/test_lambda_zip.py) and the cold start and API overhead
benches, so both measure and test the very package `chalice deploy` uploads."""
