"""Broker provisioning (``factory-broker``): the password file, ACL and secrets of a plant.

Runs where the broker is set up, never on a gateway: it writes files and calls
``mosquitto_passwd``. The plant model and ACL rendering it uses are pure and live in
``factory_core.broker_admin``.
"""
