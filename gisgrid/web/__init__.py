"""Server-rendered pages: the grid map and the login page. Data comes from the JSON API."""
