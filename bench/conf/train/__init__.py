"""Training configurations of learned methods: <method>-<preset>.yaml, composed by `bench train`."""
