"""Request bodies (pydantic): validated at the door, then turned into the services' plain arguments."""
