"""The one deterministic sample world used by the demo, the tests and the benchmarks."""

from billing_assets.sample_world.world import World, WorldParams, build_world, stable_id
from billing_assets.sample_world.writer import load_source, write_export_folder, write_sample_world

__all__ = ["World", "WorldParams", "build_world", "load_source", "stable_id", "write_export_folder",
           "write_sample_world"]
