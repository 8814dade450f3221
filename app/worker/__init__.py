"""``rectrack worker``: fans the change feed out to webhook deliveries, sends them, runs the
daily reminders and sends their emails. It calls the services; the rules are theirs."""
