"""Answer questions from the index with cited passages: CLI, answer assembly and the web chat."""
