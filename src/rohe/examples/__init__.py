"""Example applications that ship with rohe: real models and contracts to try the serving layer on."""
