"""Fixtures of the read tests, as a plugin the test modules load with ``pytest_plugins = ["readplugin"]``.

Not a ``conftest.py``: other test directories do ``from conftest import ...`` and expect
``tests/conftest.py`` under that name, which a second ``conftest.py`` here would shadow.

``read_ds`` builds one dataset per backend for the whole session with the write API, parametrized over
SQLite and PostgreSQL (the PostgreSQL half marked ``postgres`` and skipped like the rest of the suite
when no server answers). Tests treat it as read-only, except the freshness test, which only adds runs
to its own study ``fresh_live``. The globally visible names carry a ``read_`` prefix; each test module
takes short local names with ``readset.local_fixtures()``.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import readset  # noqa: E402
from conftest import create_pg_database, drop_pg_database  # noqa: E402 - tests/conftest.py




@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def read_ds(request) -> readset.Dataset:
    from storage import DatabaseMetadataService

    workdir = tempfile.TemporaryDirectory(prefix="hive_read_")
    if request.param == "sqlite":
        url = f"sqlite:///{Path(workdir.name) / 'hive.db'}"
    else:
        template = request.getfixturevalue("pg_template")
        url = create_pg_database(template=template)
    try:
        studies = readset.generate()
        with DatabaseMetadataService(url) as service:
            readset.write(service, studies)
        yield readset.Dataset(request.param, url, studies)
    finally:
        if request.param == "postgresql":
            drop_pg_database(url)
        workdir.cleanup()


@pytest.fixture(scope="session")
def read_svc(read_ds):
    """The service (its seed query methods) on the dataset, one per backend for the session."""
    from storage import DatabaseMetadataService

    service = DatabaseMetadataService(read_ds.url)
    yield service
    service.close()


@pytest.fixture(scope="session")
def read_reader(read_ds):
    from storage.reader import Reader

    reader = Reader(read_ds.url)
    yield reader
    reader.close()
