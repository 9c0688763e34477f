"""Privacy: a chat's data exported and deleted, and kept only as long as needed."""
