"""The GraphQL layer: types, inputs and resolvers that parse input, call one service and map
its result. No business rules live here."""
