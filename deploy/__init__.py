"""Ships this folder inside the wheel as `billing_assets.deploy` (see pyproject.toml): the default
Dagster instance config the demo copies into DAGSTER_HOME, and the production one."""
