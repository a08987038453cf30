import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
# Compiled kernels of this session in a folder of its own (deleted at exit): which engine "auto" picks
# depends on what is built, so a test must not depend on what earlier sessions left in ~/.cache.
if "OPTIMIZERS_KERNEL_CACHE" not in os.environ:
    os.environ["OPTIMIZERS_KERNEL_CACHE"] = tempfile.mkdtemp(prefix="optimizer-kernels-")
    atexit.register(shutil.rmtree, os.environ["OPTIMIZERS_KERNEL_CACHE"], ignore_errors=True)
