"""STAND-INS for the e2e test bed (tools/e2e): small fakes of services that
nova talks to but that this package does not touch. They are NOT OpenStack
services; every response they give is labelled with the header
``X-E2E-Stand-In``."""
