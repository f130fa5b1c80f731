fn main() {} // placeholder until the benchmark lands
