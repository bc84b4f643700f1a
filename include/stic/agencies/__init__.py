"""The municipal agencies' JSON APIs: the client that pulls them into the ledger."""
