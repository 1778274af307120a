# oscillator kernel: written in its own step (see _core.pyx)
