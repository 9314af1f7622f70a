"""The mining software (`hashforge mine`): work sources (Stratum v1 pools, solo on a node),
devices (CPU now; GPU drivers plug in through `devices.register_driver`), the scheduler that
splits work so no two devices repeat it, stats and throttling, the cgminer API and the live view.

    Miner(config).run()  # see core.Miner; runner.run_miner adds the API and the view
"""

from .config import MinerConfig, PoolConfig, SoloConfig, build_config
from .core import Miner
from .devices import (
    CPUDevice,
    Device,
    DeviceOptions,
    ThreadedDevice,
    build_devices,
    register_driver,
)
from .errors import ConfigError, DeviceError, MinerError, SourceError
from .pools import PoolManager, Strategy
from .scheduler import Scheduler
from .sources import BenchmarkSource, PoolStatus, SoloSource, StratumSource, WorkSource
from .work import Share, ShareResult, Verdict, Work, WorkUnit

__all__ = [
    "BenchmarkSource",
    "CPUDevice",
    "ConfigError",
    "Device",
    "DeviceError",
    "DeviceOptions",
    "Miner",
    "MinerConfig",
    "MinerError",
    "PoolConfig",
    "PoolManager",
    "PoolStatus",
    "Scheduler",
    "Share",
    "ShareResult",
    "SoloConfig",
    "SoloSource",
    "SourceError",
    "Strategy",
    "StratumSource",
    "ThreadedDevice",
    "Verdict",
    "Work",
    "WorkSource",
    "WorkUnit",
    "build_config",
    "build_devices",
    "register_driver",
]
