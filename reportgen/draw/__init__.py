"""Pictures: numpy mosaics, colour tables, PNG encoding."""
