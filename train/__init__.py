"""Command-line training (`python -m train.train`) and evaluation (`python -m train.test`)."""
