"""Live migration of servers in RESCUE state for OpenStack Nova 34."""
