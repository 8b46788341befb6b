"""The live side of the service: Socket.IO in, delivery to the sockets out, and what a socket's
coming and going means (presence), across one process or many (cluster)."""
