"""Sources a chat adds itself (issue 14): ``opml`` reads and writes OPML files."""
