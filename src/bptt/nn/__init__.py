"""The building blocks below the recurrence: activations g and f with their derivatives
(`activations`), losses (`losses`), initialisation (`init`), dense layers and the MLP of the DCL
review (`dense`), and the finite-difference gradient check (`gradcheck`)."""
