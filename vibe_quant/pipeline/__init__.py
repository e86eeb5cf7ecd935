"""The whole research journey as one resumable command: data → sweep → filters → validation."""
