"""netweave: an O-RAN O2 gateway (O2-IMS + O2-DMS) served as AWS Lambda functions."""
