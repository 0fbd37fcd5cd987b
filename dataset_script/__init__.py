"""What consumers see: the price table schema, the shard layout and the dataset card."""
