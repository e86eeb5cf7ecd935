import shutil

import pytest

from vibe_quant.core.paths import DataDir


@pytest.fixture(scope="module")
def e2e_data_dir(tmp_path_factory, real_data_dir) -> DataDir:
    """A private copy of the real archive + catalog (these tests write state into it)."""
    dd = DataDir(tmp_path_factory.mktemp("e2e")).ensure()
    shutil.copyfile(real_data_dir.archive_db, dd.archive_db)
    shutil.rmtree(dd.catalog)
    shutil.copytree(real_data_dir.catalog, dd.catalog)
    return dd
