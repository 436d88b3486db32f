"""Make the collection importable as ``ansible_collections.homeserver.synapse`` for the unit tests, and run the
tests' playbook cases in batches.

The Makefile links the checkout into ``.cache/collections/ansible_collections/homeserver/synapse``; this file
does the same when pytest is started directly, so ``pytest tests/unit`` works from a bare clone.

A test marked ``ansible_case`` gets the result of its playbook case from the ``ansible_result`` fixture; the
cases of many tests run in one ansible-playbook, each on an inventory host of its own (playbook_cases.py says
how).
"""

import os
import sys

import pytest

from playbook_cases import Batches, plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "homeserver", "synapse")

if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:  # another pytest-xdist worker made it first
        pass
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ansible_case(case): the playbook case the test checks (or a list of them), or a function of "
        "the test's parameters that returns it; the ansible_result fixture holds its result (playbook_cases.py)")


@pytest.hookimpl(trylast=True)  # the tests that remain selected
def pytest_collection_modifyitems(items):
    plan(items)


@pytest.fixture(scope="session", autouse=True)
def ansible_batches(request, tmp_path_factory):
    """The session's playbook cases and their results, a group at a time, shared by the pytest-xdist workers (whose
    temporary directories are in the session's). The groups start running before the first test needs them."""
    workerinput = getattr(request.config, "workerinput", None)
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if workerinput else base) / "playbook_cases"
    shared.mkdir(exist_ok=True)
    batches = Batches(tmp_path_factory.mktemp("playbook_cases"), shared)
    if workerinput:
        batches.prefetch(request.session.items, int(workerinput["workerid"][2:]), workerinput["workercount"])
    else:
        batches.prefetch(request.session.items)
    yield batches
    batches.stop()


@pytest.fixture
def ansible_result(request, ansible_batches):  # pylint: disable=redefined-outer-name
    """The result of the test's ansible_case (a list of results when the marker gave a list of cases)."""
    return ansible_batches.results(request.node)
