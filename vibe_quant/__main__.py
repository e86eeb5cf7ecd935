"""``python -m vibe_quant ARGS``: the ``vibe-quant`` command line.

A background job's process is ``python -m vibe_quant ARGS`` too, started by the jobs launcher
with ``VIBE_QUANT_JOB_ID``/``VIBE_QUANT_JOB_TOKEN`` in its environment: it then runs the command
as that job (:mod:`vibe_quant.cli.job_entry`). The ``vibe-quant`` script never does.
"""

import sys

from vibe_quant.cli import job_entry, main

sys.exit(job_entry.main() if job_entry.is_job_process() else main())
