"""Fault-injection trials (see test_kill.py): proxy.py and cluster.py are
reusable; the modules here import them by name."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
