error('a\nb')
