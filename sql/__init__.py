"""Ships this folder inside the wheel as `billing_assets.sql` (see pyproject.toml), so every SQL file is
read with importlib.resources wherever the package is installed. No Python lives here."""
