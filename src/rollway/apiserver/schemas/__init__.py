"""Request and response bodies of the API (pydantic), apart from the tables in `models`."""
