"""All SQL lives here: the database, its migrations and one repository per aggregate."""
