"""A fake Future AGI API for tests, benchmarks and trying fi-gate by hand."""

from tests.fakeapi.server import API_KEY, SECRET_KEY, FakeApi, Fault
from tests.fakeapi.store import Store, build_run_test, load_dir

__all__ = ["API_KEY", "SECRET_KEY", "FakeApi", "Fault", "Store", "build_run_test", "load_dir"]
