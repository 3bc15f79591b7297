"""obsgen: LLM observability as code: the generator and command line of the obsgen project."""
