{
  "targets": [{
    "target_name": "fuse",
    "include_dirs": [
      "<!(node -e \"require('napi-macros')\")",
      "<!@(pkg-config --cflags-only-I fuse3 | sed s/-I//g)",
    ],
    "libraries": [
      "<!@(pkg-config --libs fuse3)",
      "-lisal",
    ],
    "sources": [
      "fuse-native.c"
    ],
    "defines": [
      "_GNU_SOURCE"
    ],
    'xcode_settings': {
      'OTHER_CFLAGS': [
        '-g',
        '-O3',
        '-Wall'
      ]
    },
    'cflags': [
      '-g',
      '-O3',
      '-Wall'
    ],
  }]
}
