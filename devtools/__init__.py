"""Developer tooling: a throwaway Synapse homeserver and scripted Matrix participants."""
