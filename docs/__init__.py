"""Ships this folder inside the wheel as `billing_assets.docs` (see pyproject.toml): the data dictionary
is read by billing_assets.warehouse.dictionary for column descriptions and warehouse comments. No
Python lives here."""
