import sys

from keras_muxnet.cli import main

sys.exit(main())
